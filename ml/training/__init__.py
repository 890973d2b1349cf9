"""Training of the emotion network: corpus data, augmentation, losses and the trainer."""
