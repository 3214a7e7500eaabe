"""The composition root: builds the application, its parts and its channels from settings."""
