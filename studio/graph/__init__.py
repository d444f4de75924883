"""The scene graph: shots planned from the screenplay, and the graph that connects them."""
