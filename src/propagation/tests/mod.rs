mod baggage;
mod formats;
mod propagators;
mod traceparent;
