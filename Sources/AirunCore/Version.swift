/// airun's version, in records (`airun_version`) and `airun --version`.
public let airunVersion = "0.1.0"
