/** `/proofmesh/inputs/1.0.0` (README.md): the caps and deadlines are the bulk protocols' (../bulk/constants.ts) */
export const INPUTS_PROTOCOL = '/proofmesh/inputs/1.0.0'
