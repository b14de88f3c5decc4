//! (Stub: being implemented.)
