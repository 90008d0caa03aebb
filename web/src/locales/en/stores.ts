export default {
  title: 'Stores',
  new: 'New store',
  newTitle: 'New store',
  editTitle: 'Edit store: {name}',
  createdOne: 'Store {name} created',
  name: 'Store name',
  namePlaceholder: 'e.g. Downtown store',
  code: 'Store code',
  codeHelp: 'A short code for the store (letters, digits, _ or -), unique, used by the API and in reports.',
  address: 'Address',
  phone: 'Phone',
  created: 'Created',
  err: {
    code: 'A code is 1–32 letters, digits, _ or -',
    name: 'Enter the store name',
    phone: 'A phone number has only digits, spaces and + - ( )',
  },
}
