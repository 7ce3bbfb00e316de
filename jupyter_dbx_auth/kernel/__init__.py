"""Kernel side: IPython magics, ipywidgets, the broker client and Databricks client adapters."""
