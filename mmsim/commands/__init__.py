"""Sub-commands of the ``mmsim`` command line, one module each."""
