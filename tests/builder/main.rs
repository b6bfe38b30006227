//! The behaviour each `ObserverBuilder` setter promises, checked on a running observer
//! (the setters' doc examples show how to configure; these show that it works).
//! Each file holds the setters of one concern.

mod delivery;
mod export;
mod operations;
mod recording;
mod sampling;
