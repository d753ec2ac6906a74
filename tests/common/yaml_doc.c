/* tests/common/yaml_doc.c: see yaml_doc.h. */
#include <string.h>

#include "yaml_doc.h"

yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

const char *
map_str(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	return scalar(map_get(doc, map, key));
}

const char *
scalar(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

size_t
scalar_len(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return 0;
	return n->data.scalar.length;
}

size_t
seq_len(yaml_node_t *seq)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start);
}

yaml_node_t *
seq_at(yaml_document_t *doc, yaml_node_t *seq, size_t i)
{
	if (i >= seq_len(seq))
		return NULL;
	return yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
}
