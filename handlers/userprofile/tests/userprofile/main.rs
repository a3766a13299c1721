//! Integration tests of the userprofile functions against moto server, through the real
//! aws-sdk clients. One test binary (so one moto server); each test makes its own tables,
//! queues and buses.

mod address_consumers;
mod event_files;
mod favorites_consumer;
mod helpers;
mod lists;
mod routing;
