"""The auth engine. Knows nothing of Jupyter: no jupyter_server, tornado, IPython imports here."""
