"""docfoundry finetune stage."""
