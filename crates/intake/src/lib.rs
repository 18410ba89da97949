//! Channel adapters (D2): every channel's own format becomes a [`RawNewEvent`], the
//! wire form of the one intake. An adapter only parses and renames; checking values,
//! converting coordinates, classifying, locating and storing happen once, after it,
//! for every channel alike. A new channel is a new module here.
//!
//! [`RawNewEvent`]: zhili_domain::RawNewEvent

pub mod hotline;
pub mod petition;
