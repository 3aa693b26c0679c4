"""Follow-ups of a field result: a dispute case or a pemanfaatan check opened from what a team saw. This room sits
above both ``field`` and ``encumbrance`` (which may not import each other) and joins them."""
