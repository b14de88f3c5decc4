//! Funding Circle investor API v2 client. (Stub: being implemented.)
