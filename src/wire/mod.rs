//! What Salesforce sends, read into plain data: token responses, API error bodies
//! in all their shapes, introspection replies.

pub mod api_error;
pub mod token_response;
