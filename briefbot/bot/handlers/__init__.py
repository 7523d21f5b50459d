"""Update handlers, grouped by concern; bot/app.py registers them."""
