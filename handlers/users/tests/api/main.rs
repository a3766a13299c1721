//! The users service against moto server, through the real aws-sdk clients.

mod authorizer;
mod crud;
mod helpers;
mod listing;
