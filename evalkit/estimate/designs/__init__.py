"""The designs evalkit ships, one module each; :mod:`evalkit.estimate.registry` lists them."""
