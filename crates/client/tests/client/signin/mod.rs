//! Sign-in through the client, one file per part of the flow.

mod account;
mod busy;
mod password;
mod refusals;
mod second_factor;
