"""docfoundry eval stage."""
