"""natsim: reproduce, predict and measure middleboxes that break long-lived connections."""

__version__ = "0.1.0"
