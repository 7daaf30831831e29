"""augment: grow a small hand-made set of melody chat examples into a training set."""

__version__ = "0.1.0"
