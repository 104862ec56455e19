/** The record key of a field's placeholders, beside its names: `<field>Placeholder` (RecordOf says the same). */
export const placeholderKey = (fieldName: string): string => `${fieldName}Placeholder`
