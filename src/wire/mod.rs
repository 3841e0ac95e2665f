//! What Salesforce sends, read into plain data: token responses, API error bodies
//! in all their shapes, introspection replies; and the JSON text codec they share.

pub mod api_error;
pub mod introspection;
pub mod json;
pub mod loose;
pub mod token_response;
