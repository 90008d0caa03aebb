export default {
  title: 'Security',
  readOnly: 'You can read the security settings but may not change them.',
  refundTitle: 'Cashier refund limit',
  limitOn: 'Limit each refund',
  limitNone: 'Cashiers may refund any amount.',
  limitZero: 'Cashiers may refund no cash; a manager or the owner must do refunds.',
  limitSome: 'Cashiers may refund at most {amount} at once; a manager or the owner does larger refunds.',
  refundHelp: 'Only the cashier role is limited; managers and owners are not. A refund above the limit is refused and changes nothing.',
  totpTitle: 'Roles that must use two-factor sign-in',
  totpHelp: 'Staff of the roles ticked sign in with their password and a 6-digit code from an authenticator app. Until they set one up, they can only open My account to do so.',
  totpMine: 'Your own role is ticked: if you have not set up an authenticator yet, you will have to do that first.',
  toAccount: 'Go to My account',
  err: {
    money: 'Enter an amount such as 500.00',
  },
}
