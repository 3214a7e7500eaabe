"""Training the semantic classifier: the encoder's distilled token vectors, WordPiece, augmented
copies, and the small convolutional student the router runs."""
