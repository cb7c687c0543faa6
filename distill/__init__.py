"""docfoundry distill stage."""
