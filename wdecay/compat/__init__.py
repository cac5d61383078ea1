"""Drop-in modules for existing network2.py scripts: ``network2`` and ``mnist_loader``."""
