"""Data sets of the documents, as numpy arrays both backends read.

``imdb`` and ``mnist`` load the real data with Keras's exact semantics; ``sequences`` pads;
``synthetic`` generates the two tasks of document 004. Nothing here imports TensorFlow or torch.
"""
