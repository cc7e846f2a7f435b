{"alg":"Ed25519","keyId":"d3e4ea62b30f571e","signature":"sizIEh7oCGONkMD7lsqWKdPkCUNpuUECVaGEcKFmWyQjWbqVqDdub23G1LleoBHmm1z3j31tIRAECcj21KDjCw=="}
