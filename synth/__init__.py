"""docfoundry synth stage."""
