"""streamcassette's pytest plugin (installed as ``streamcassette_pytest``)."""
