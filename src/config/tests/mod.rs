//! Unit tests of the configuration sources and their resolution.

mod env;
mod file;
mod parse;
mod readme;
mod resolve;
