//! Adapters from real exports to events (being written).
