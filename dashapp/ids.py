"""Component ids, one constant each; values are prefixed by the page that owns them."""

# --- monitor panel (live monitor page and embed page) ---

# --- data-quality trends page ---

# --- conflict trends page ---
