import matplotlib.pyplot as plt


class Experiment:
    def __init__(self, path):
        self.path = path
        self.losses = self.load()

    def load(self):
        with open(self.path) as fh:
            return [float(line) for line in fh]

    def plot_losses(self):
        plt.figure(figsize=(6, 3))
        plt.plot(self.losses, label="train loss", color="crimson")
        plt.yscale("log")
        plt.legend()
        plt.title("Training loss")
