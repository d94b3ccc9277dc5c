"""The ranker: a model trained on labels (monitor.labels) that ranks a token's addresses
by how much they resemble the addresses investigators reported.

This package is what scoring needs to use a trained model, and sits below it: the graph
and label context every ranker reads (`features`), the fitted model and its explanations
(`model`), words for its features (`words`), and the stored versions (`store`). Training
(`training/`, above scoring) evaluates the rules, fits and stores; scoring
(monitor.scoring.learned) assembles the inputs and fuses the score, without importing
training.
"""
