// Types of the in-memory store (salesforce-session/stores/memory): the same class the entry exports.
export { MemoryStore } from '../index.js';
