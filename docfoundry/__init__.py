"""docfoundry: synthetic documents with exact truth, teacher weak labels, and small-VLM distillation."""

__version__ = "0.1.0"
