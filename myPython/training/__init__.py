"""Training and offline tools driven by pycaffe: the solver loop with logs and validation (train), teacher
export (convert) and offline PCA-whitening (offline_pca). May import everything below `apps`.
"""
