"""The commands of ``tavbo``: one module each, thin calls into the library."""
