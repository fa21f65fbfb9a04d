"""The trend explorer's data layer: filters, aggregate queries and CSV export, free of Dash and Flask."""
