"""natsim: reproduce, predict and measure middleboxes that break long-lived connections."""

#: The one place natsim's version is written: pyproject.toml reads it (``[tool.setuptools.dynamic]``).
__version__ = "0.1.0"
