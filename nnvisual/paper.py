"""The study's reported numbers (Reda & Xu 2019; docs/study.md, "Training" for Tables 1-2 and
"Bag of visual words" for Table 3), to compare against."""

TRAINING_TABLES = {  # Tables 1 and 2: final training / validation accuracy and loss
    "plotka": {"accuracy": (0.566, 0.515), "loss": (1.213, 1.344), "epochs": 10},
    "bonaccorso": {"accuracy": (0.818, 0.758), "loss": (0.517, 0.707), "epochs": 250},
}
STATE_OF_THE_ART_CIFAR10 = 0.9653  # Graham (2014), fractional max-pooling
TABLE3 = {  # BoW scores of plotka's class-284 reconstructions, n = 10 tries
    "before": {"mean": 0.050, "median": 0.050},
    "after": {"mean": 0.095, "median": 0.090},
}
