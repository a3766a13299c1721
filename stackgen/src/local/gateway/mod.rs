//! API Gateway REST (v1) emulation for `stackgen local`: one loopback HTTP server per REST API of
//! the model.
