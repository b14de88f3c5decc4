//! The HTTP layer every platform client sends through: timeouts, pacing, 429
//! back-off, metrics, and error classification. (Stub: being implemented.)
