"""The answering core: knowledge base, jieba + BM25 retrieval, cited answers and declines."""
