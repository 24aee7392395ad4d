"""gymnasieprognos: forecasting upper-secondary places in the Stockholm admission region."""
__version__ = "0.1.0"
