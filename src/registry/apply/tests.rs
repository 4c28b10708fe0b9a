//! Cases from the server-side apply documentation.
