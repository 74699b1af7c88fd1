# Loaded automatically by every Python subprocess whose PYTHONPATH names this folder.
import loopback_only

loopback_only.install()
